/*
 * Kith browser tracker: the loader.
 *
 * Pasted inline after (or before) `const options = {tracker: {...}}`, or loaded
 * with <script src="<kith>/tracker/loader.min.js">. It does the same job as the
 * loader in Tracardi's documented snippet, so pages written for either work:
 *
 * - `window.tracker.track(...)` (and `identify`, `consent`) exist at once and
 *   queue their calls until the tracker itself has loaded;
 * - once the document is parsed, it reads `options.tracker.url.script` and
 *   loads `<script>/liliput.min.js` (a value that does not start with `http`
 *   or `//` is taken as the full address of the file);
 * - when that has loaded, `window.tracker` becomes `window.tracardi.default`
 *   and any call still queued is replayed on it.
 *
 * `options` is read only when the document is parsed, never while this code
 * first runs: Tracardi's documentation puts the loader before the
 * `const options` line of the same script, where reading it would throw.
 */
(function (w, d) {
    "use strict";

    if (w.tracker && Array.isArray(w.tracker.queue)) {
        return; // the loader is on this page twice
    }

    const queue = [];
    const stub = {queue: queue};
    for (const name of ["track", "identify", "consent"]) {
        stub[name] = function () {
            queue.push([name, Array.prototype.slice.call(arguments)]);
            return stub;
        };
    }
    if (!w.tracker || typeof w.tracker.track !== "function") {
        w.tracker = stub;
    }
    w.response = w.response || {context: {}};
    if (!w.onTracardiReady) {
        const listeners = [];
        w.onTracardiReady = {
            bind: function (listener) {
                if (typeof listener === "function") {
                    listeners.push(listener);
                }
            },
            call: function (params) {
                for (const listener of listeners) {
                    listener(params);
                }
            },
        };
    }

    function snippetOptions() {
        try {
            // a `const options` of another classic script is a global binding, not a window property
            return typeof options !== "undefined" ? options : w.options;
        } catch (notYetDefined) {
            return w.options;
        }
    }

    function replay() {
        const tracker = w.tracardi && w.tracardi.default;
        if (!tracker) {
            console.error("[Kith] The tracker did not load; is options.tracker.url.script right?");
            return;
        }
        w.tracker = tracker;
        while (queue.length > 0) {
            const [name, args] = queue.shift();
            if (typeof tracker[name] === "function") {
                tracker[name].apply(tracker, args);
            }
        }
    }

    function load() {
        const config = snippetOptions();
        const tracker = config && config.tracker;
        if (!tracker || !tracker.url || !tracker.url.script) {
            console.error("[Kith] options.tracker.url.script is not set: the tracker cannot load.");
            return;
        }
        const settings = tracker.settings || {};
        if (settings.respectDoNotTrack === true && navigator.doNotTrack === "1") {
            return;
        }
        const where = String(tracker.url.script);
        const script = d.createElement("script");
        script.async = true;
        script.src = /^(https?:)?\/\//.test(where)
            ? where.replace(/\/+$/, "") + "/liliput.min.js"
            : where;
        script.addEventListener("load", replay);
        (d.head || d.documentElement).appendChild(script);
    }

    if (d.readyState === "loading") {
        d.addEventListener("DOMContentLoaded", load);
    } else {
        setTimeout(load, 0);
    }
})(window, document);
