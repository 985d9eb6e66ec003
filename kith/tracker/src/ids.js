/*
 * Who and which visit: the ids the tracker keeps in the browser.
 *
 * The names are Tracardi's, so a visitor tracked by Tracardi's tracker keeps
 * being the same person when the site moves to Kith:
 * - the profile id in localStorage `tracardi-profile-id` (the answer's
 *   profile id replaces it, so after a merge the browser uses the survivor);
 * - the session id in the first-party cookie `tracardi-session-id`, which
 *   lives for 30 minutes and is renewed by every event (a visit ends after
 *   30 minutes of inactivity);
 * - a device id in localStorage `kith-device-id` (Kith's own), sent as the
 *   payload's top-level `device.id`; it never changes for this browser.
 * Storage can be switched off or full; then ids live for the page only.
 */

const PROFILE_KEY = "tracardi-profile-id";
const SESSION_COOKIE = "tracardi-session-id";
const DEVICE_KEY = "kith-device-id";
const SESSION_SECONDS = 30 * 60;

const pageOnlyStorage = {};

function readStored(key) {
    try {
        const value = window.localStorage.getItem(key);
        return value !== null ? value : (pageOnlyStorage[key] || null);
    } catch (unavailable) {
        return pageOnlyStorage[key] || null;
    }
}

function writeStored(key, value) {
    pageOnlyStorage[key] = value;
    try {
        window.localStorage.setItem(key, value);
    } catch (unavailable) {
        // kept for this page only
    }
}

/** A random (version 4) UUID; crypto.randomUUID exists only on https pages. */
function newId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)]
        .join("-");
}

function readCookie(name) {
    for (const part of document.cookie.split(";")) {
        const [key, ...rest] = part.trim().split("=");
        if (key === name) {
            return decodeURIComponent(rest.join("="));
        }
    }
    return null;
}

function profileId() {
    return readStored(PROFILE_KEY);
}

function adoptProfileId(id) {
    if (typeof id === "string" && id && id !== readStored(PROFILE_KEY)) {
        writeStored(PROFILE_KEY, id);
    }
}

/** The current visit's id, renewed for another 30 minutes; a new one if it had expired. */
function sessionId() {
    const id = readCookie(SESSION_COOKIE) || newId();
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = SESSION_COOKIE + "=" + encodeURIComponent(id) +
        "; Max-Age=" + SESSION_SECONDS + "; Path=/; SameSite=Lax" + secure;
    return id;
}

function deviceId() {
    let id = readStored(DEVICE_KEY);
    if (!id) {
        id = newId();
        writeStored(DEVICE_KEY, id);
    }
    return id;
}
