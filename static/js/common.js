/* Helpers shared by the pages' ES modules (the live room, static/js/room/, and the monitor's page,
   static/js/monitor.js): the strings a page's template passes with json_script, new ids, the CSRF token,
   and building elements.

   Every word a script shows comes from the page: Django translates it and writes it with
   {{ strings|json_script:"<id>" }}; `%(name)s` placeholders are filled in here. */

/** The JSON a template wrote with json_script under this id; null when the page has none. */
export function readStrings(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : null;
}

/** A template's `%(name)s` placeholders filled in from values; unknown names stay as they are. */
export function interpolate(template, values) {
  if (!values) { return template; }
  return template.replace(/%\((\w+)\)s/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** t(key, values): the page's string for key (the one under fallbackKey when there is none), filled in. */
export function translator(strings, fallbackKey) {
  return (key, values) => {
    const text = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : strings[fallbackKey];
    return interpolate(text, values);
  };
}

/** A new random UUID (version 4): a websocket frame's client_id, a check's Idempotency-Key. */
export function newClientId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
  // crypto.randomUUID needs a secure context (https, or this machine); getRandomValues does not.
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function cookie(name) {
  const found = document.cookie.split(";").map((c) => c.trim()).find((c) => c.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

/** fetch() to this server with the session cookie and Django's CSRF token (its cookie is readable). */
export function fetchWithCsrf(url, options = {}) {
  return fetch(url, {
    credentials: "same-origin",
    ...options,
    headers: { ...(options.headers || {}), "X-CSRFToken": cookie("csrftoken") },
  });
}

/** An element with attributes (class, data-*, anything else) and children (nodes or text). */
export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) { continue; }
    if (name === "class") { element.className = value; } else { element.setAttribute(name, value === true ? "" : String(value)); }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) { continue; }
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}
