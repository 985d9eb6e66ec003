/*
 * `ux` items of an answer, rendered into the page.
 *
 * An item is `{"tag": "div", "props": {"class": "hello"}, "content": "Thanks"}`
 * (what a flow's `ux` node returns): an element with those attributes and that
 * text, appended to the body. `content` is always text, never HTML, because
 * flows fill it from profile data the visitor typed. For the same reason no
 * inline script can come in: `on...` attributes and `javascript:` addresses
 * are dropped, and a `<script>` runs only from its `src` (how Tracardi's
 * widgets load), never from `content`.
 */

function safeAttribute(name, value) {
    if (/^on/i.test(name)) {
        return false;
    }
    return !/^\s*javascript:/i.test(String(value));
}

function renderUxItem(item) {
    if (!item || typeof item.tag !== "string") {
        return null;
    }
    let element;
    try {
        element = document.createElement(item.tag);
    } catch (invalidTagName) {
        return null;
    }
    const props = item.props && typeof item.props === "object" ? item.props : {};
    for (const [name, value] of Object.entries(props)) {
        if (value === null || value === undefined || !safeAttribute(name, value)) {
            continue;
        }
        try {
            element.setAttribute(name, String(value));
        } catch (invalidAttributeName) {
            // skipped
        }
    }
    const isScript = element.tagName === "SCRIPT";
    if (item.content !== null && item.content !== undefined && !isScript) {
        element.textContent = String(item.content);
    }
    document.body.appendChild(element);
    return element;
}

function renderUx(items) {
    if (!Array.isArray(items) || items.length === 0) {
        return;
    }
    whenDocumentReady(() => items.forEach(renderUxItem));
}

function whenDocumentReady(callback) {
    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", callback, {once: true});
    } else {
        callback();
    }
}
