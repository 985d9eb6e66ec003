/*
 * What the tracker tells about the browser and the page, in the layout of
 * Tracardi's tracker (Kith's enrichment reads the user agent, language and
 * screen from these very paths).
 *
 * `options.tracker.context` switches parts on and off, with Tracardi's
 * defaults: browser, page and screen on; storage, cookies and performance off.
 * Browser, screen, storage and UTM go in the payload's context (merged into
 * the session); the page (and the load timings) go in each event's context,
 * because they change from event to event.
 */

const CONTEXT_DEFAULTS = {
    browser: true, page: true, screen: true, storage: false, cookies: false, performance: false,
};

function contextSwitches(config) {
    return Object.assign({}, CONTEXT_DEFAULTS, config.context || {});
}

function browserContext() {
    return {
        browser: {
            name: navigator.appName,
            engine: navigator.product,
            appVersion: navigator.appVersion,
            userAgent: navigator.userAgent,
            language: navigator.language,
            onLine: navigator.onLine,
            javaEnabled: false,
            cookieEnabled: navigator.cookieEnabled,
        },
        device: {platform: navigator.platform},
    };
}

function screenContext() {
    const orientation = screen.orientation ? screen.orientation.type : "n/a";
    return {
        width: screen.width,
        height: screen.height,
        innerWidth: window.innerWidth,
        innerHeight: window.innerHeight,
        availWidth: screen.availWidth,
        availHeight: screen.availHeight,
        colorDepth: screen.colorDepth,
        pixelDepth: screen.pixelDepth,
        orientation: orientation,
    };
}

function storageContext() {
    const items = {};
    try {
        for (let i = 0; i < localStorage.length; i++) {
            const key = localStorage.key(i);
            items[key] = localStorage.getItem(key);
        }
    } catch (unavailable) {
        // nothing to tell
    }
    return items;
}

/** The referring site and its search words, only when the visitor came from another site. */
function refererContext() {
    if (!document.referrer) {
        return {host: null, query: null};
    }
    try {
        const from = new URL(document.referrer);
        if (from.host === location.host) {
            return {host: null, query: null};
        }
        const words = from.searchParams.get("q") || from.searchParams.get("p");
        return {host: from.host, query: words};
    } catch (malformed) {
        return {host: null, query: null};
    }
}

function pageContext() {
    return {
        url: location.href,
        path: location.pathname,
        hash: location.hash,
        title: document.title,
        referer: refererContext(),
        history: {length: history.length},
    };
}

/** Milliseconds from the start of the navigation, for the page load that ran this tracker. */
function performanceContext() {
    const entries = performance.getEntriesByType ? performance.getEntriesByType("navigation") : [];
    const timing = entries[0];
    if (!timing) {
        return {};
    }
    const round = (value) => Math.round(value);
    return {
        dns: round(timing.domainLookupEnd - timing.domainLookupStart),
        connect: round(timing.connectEnd - timing.connectStart),
        ttfb: round(timing.responseStart - timing.startTime),
        response: round(timing.responseEnd - timing.responseStart),
        domInteractive: round(timing.domInteractive),
        domContentLoaded: round(timing.domContentLoadedEventEnd),
        load: round(timing.loadEventEnd),
        transferSize: timing.transferSize,
    };
}

function utmContext() {
    const query = new URLSearchParams(location.search);
    const utm = {};
    for (const name of ["source", "medium", "campaign", "term", "content"]) {
        if (query.has("utm_" + name)) {
            utm[name] = query.get("utm_" + name);
        }
    }
    return Object.keys(utm).length > 0 ? utm : null;
}

function payloadContext(config) {
    const on = contextSwitches(config);
    const context = {
        time: {
            local: new Date().toLocaleString(),
            tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
        },
    };
    if (on.browser) {
        context.browser = {local: browserContext()};
    }
    if (on.screen) {
        context.screen = {local: screenContext()};
    }
    if (on.storage || on.cookies) {
        context.storage = {};
        if (on.storage) {
            context.storage.local = storageContext();
        }
        if (on.cookies) {
            context.storage.cookies = document.cookie;
        }
    }
    const utm = on.utm === false ? null : utmContext();
    if (utm) {
        context.utm = utm;
    }
    return context;
}

function eventContext(config, extra) {
    const on = contextSwitches(config);
    const context = {};
    if (on.page) {
        context.page = pageContext();
    }
    if (on.performance) {
        context.performance = performanceContext();
    }
    return isPlainObject(extra) ? Object.assign(context, extra) : context;
}
