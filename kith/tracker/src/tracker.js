/*
 * Kith browser tracker: `window.tracardi.default`, configured by the snippet's
 * `options` (the same object Tracardi's snippet uses).
 *
 *   track(type, properties, {fire, asBeacon, context})
 *       without `fire`: waits `settings.batchDelay` ms (100 by default, and at
 *       least until the document is parsed) so that every call of that moment
 *       goes in one payload; `fire: true` sends this event at once in its own
 *       payload; `asBeacon: true` sends it at once with navigator.sendBeacon,
 *       together with any event still waiting (the page may be going away).
 *       Resolves to Kith's answer (null for beacons and failures).
 *   identify(traits, opts)        an `identify` event with the traits.
 *   consent(granted, revoked, opts)
 *                                 a `consent-update` event.
 *   flush()                       sends the waiting events now.
 *
 * Every answer's profile id is kept (so a merged visitor continues as the
 * surviving profile) and its `ux` items are rendered. Events still waiting
 * when the page is hidden or left go out as a beacon.
 */

const BATCH_DELAY_MS = 100;

function snippetOptions() {
    try {
        // a `const options` of another classic script is a global binding, not a window property
        return typeof options !== "undefined" ? options : window.options;
    } catch (notYetDefined) {
        return window.options;
    }
}

/** Kith refuses a payload whose properties are not an object: one bad call must not lose a batch. */
function isPlainObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

function asList(value) {
    if (value === null || value === undefined) {
        return [];
    }
    return Array.isArray(value) ? value.map(String) : [String(value)];
}

/** Tracardi's `auto.events` are `[type, properties]` pairs; a bare type or `{type, properties}` works too. */
function autoEvent(entry) {
    if (typeof entry === "string") {
        return [entry, {}];
    }
    if (Array.isArray(entry)) {
        return [entry[0], entry[1] || {}];
    }
    if (entry && typeof entry === "object") {
        return [entry.type, entry.properties || {}];
    }
    return [null, {}];
}

function createTracker(snippet) {
    const config = snippet.tracker;
    const settings = config.settings || {};
    const endpoint = String(config.url.api).replace(/\/+$/, "") + "/track";
    const source = {id: String(config.source.id)};
    const delay = Number.isFinite(settings.batchDelay) ? settings.batchDelay : BATCH_DELAY_MS;
    let waitingEvents = [];
    let waitingCallers = [];
    let timer = null;
    let firstAnswer = true;
    let tracker = null;

    function buildEvent(type, properties, opts) {
        const event = {
            type: String(type),
            properties: isPlainObject(properties) ? properties : {},
            context: eventContext(config, opts.context),
            time: {create: new Date().toISOString()},
        };
        const rest = Object.assign({}, opts);
        delete rest.fire;
        delete rest.asBeacon;
        delete rest.context;
        if (Object.keys(rest).length > 0) {
            event.options = rest;
        }
        return event;
    }

    function payloadOf(events) {
        const payload = {
            source: source,
            session: {id: sessionId()},
            device: {id: deviceId()},
            context: payloadContext(config),
            properties: {},
            events: events,
            options: Object.assign({}, (window.response && window.response.context) || {}),
        };
        const profile = profileId();
        if (profile) {
            payload.profile = {id: profile};
        }
        return payload;
    }

    function received(answer) {
        if (!answer) {
            return null;
        }
        if (answer.profile) {
            adoptProfileId(answer.profile.id);
        }
        renderUx(answer.ux);
        if (firstAnswer) {
            firstAnswer = false;
            const ready = window.onTracardiReady;
            if (ready && typeof ready.call === "function") {
                ready.call({tracker: tracker, helpers: tracker.plugins.tracardi, context: answer,
                    config: snippet});
            }
        }
        return answer;
    }

    async function send(events) {
        return received(await postPayload(endpoint, payloadOf(events)));
    }

    function takeWaiting() {
        const taken = [waitingEvents, waitingCallers];
        waitingEvents = [];
        waitingCallers = [];
        clearTimeout(timer);
        timer = null;
        return taken;
    }

    async function flush() {
        const [events, callers] = takeWaiting();
        if (events.length === 0) {
            return null;
        }
        const answer = await send(events);
        callers.forEach((resolve) => resolve(answer));
        return answer;
    }

    function scheduleFlush() {
        if (timer === null) {
            timer = setTimeout(() => whenDocumentReady(flush), delay);
        }
    }

    function sendBeacon(lastEvent) {
        const [events, callers] = takeWaiting();
        if (lastEvent) {
            events.push(lastEvent);
        }
        if (events.length > 0) {
            beaconPayload(endpoint, payloadOf(events));
        }
        callers.forEach((resolve) => resolve(null));
    }

    function track(type, properties, opts) {
        opts = opts || {};
        if (!type) {
            console.error("[Kith] track() needs an event type.");
            return Promise.resolve(null);
        }
        const event = buildEvent(type, properties, opts);
        if (opts.asBeacon === true) {
            sendBeacon(event);
            return Promise.resolve(null);
        }
        if (opts.fire === true) {
            return send([event]);
        }
        waitingEvents.push(event);
        scheduleFlush();
        return new Promise((resolve) => waitingCallers.push(resolve));
    }

    function identify(traits, opts) {
        return track("identify", traits || {}, opts);
    }

    function consent(granted, revoked, opts) {
        return track("consent-update", {granted: asList(granted), revoked: asList(revoked)}, opts);
    }

    const helpers = {
        track: (type, properties, opts) => track(type, properties, Object.assign({}, opts, {fire: true})),
        onClick: (element, listener) => element.addEventListener("click", listener),
        addListener: (element, name, listener) => element.addEventListener(name, listener),
    };

    tracker = {
        track: track,
        identify: identify,
        consent: consent,
        flush: flush,
        plugins: {tracardi: helpers},
        // Tracardi's loader replays its queue only once this says the plugin is initialized
        getState: () => ({plugins: {tracardi: {initialized: true, loaded: true}}}),
        whenPageHides: () => sendBeacon(null),
    };
    return tracker;
}

function startTracker() {
    if (window.tracardi && window.tracardi.default) {
        return; // loaded twice
    }
    const snippet = snippetOptions();
    const config = snippet && snippet.tracker;
    if (!config || !config.url || !config.url.api || !config.source || !config.source.id) {
        console.error("[Kith] options.tracker.url.api and options.tracker.source.id must be set.");
        return;
    }
    const tracker = createTracker(snippet);
    window.tracardi = Object.assign(window.tracardi || {}, {default: tracker});

    const stub = window.tracker;
    const queued = stub && Array.isArray(stub.queue) ? stub.queue.splice(0) : [];
    window.tracker = tracker;

    const listeners = snippet.listeners || {};
    if (typeof listeners.onInit === "function") {
        listeners.onInit({tracker: tracker, helpers: tracker.plugins.tracardi,
            session: {id: sessionId()}});
    }
    for (const entry of (config.auto && config.auto.events) || []) {
        const [type, properties] = autoEvent(entry);
        if (type) {
            tracker.track(type, properties);
        }
    }
    for (const [name, args] of queued) {
        if (typeof tracker[name] === "function") {
            tracker[name].apply(tracker, args);
        }
    }
    window.addEventListener("pagehide", tracker.whenPageHides);
    document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "hidden") {
            tracker.whenPageHides();
        }
    });
}

startTracker();
