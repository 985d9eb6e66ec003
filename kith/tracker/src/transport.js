/*
 * Getting a payload to Kith.
 *
 * Bodies go as JSON text with `Content-Type: text/plain`: Kith reads any
 * content type, and a text/plain POST is a "simple" request, so the browser
 * sends it without a CORS preflight (one round trip instead of two, and
 * nothing to wait for while a page is closing). The answer is still read
 * under CORS, which Kith allows per source (`allowed_origins`).
 *
 * `fetch` is used when the answer matters (profile id, `ux`); `sendBeacon`
 * when the page may be going away, where nothing can read an answer anyway.
 */

const KEEPALIVE_LIMIT = 60000; // browsers cap keepalive bodies at 64 KiB in flight

async function postPayload(url, payload) {
    const body = JSON.stringify(payload);
    try {
        const response = await fetch(url, {
            method: "POST",
            headers: {"Content-Type": "text/plain;charset=UTF-8"},
            body: body,
            credentials: "omit",
            keepalive: body.length < KEEPALIVE_LIMIT,
        });
        const answer = await response.json().catch(() => null);
        if (!response.ok) {
            const detail = answer && answer.detail ? JSON.stringify(answer.detail) : response.statusText;
            console.error("[Kith] /track answered " + response.status + ": " + detail);
            return null;
        }
        return answer;
    } catch (networkError) {
        console.error("[Kith] /track could not be reached: " + networkError);
        return null;
    }
}

/** True if the browser took the beacon; falls back to a keepalive fetch when it did not. */
function beaconPayload(url, payload) {
    const body = JSON.stringify(payload);
    const blob = new Blob([body], {type: "text/plain;charset=UTF-8"});
    if (navigator.sendBeacon && navigator.sendBeacon(url, blob)) {
        return true;
    }
    postPayload(url, payload);
    return false;
}
