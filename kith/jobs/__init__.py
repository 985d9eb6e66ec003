"""Background jobs: long work with progress, stored, resumable after a restart."""

from kith.jobs.kinds import JobContext, JobKind, JobLost
from kith.jobs.runner import JobRunner
from kith.jobs.service import JobService

__all__ = ["JobContext", "JobKind", "JobLost", "JobRunner", "JobService"]
