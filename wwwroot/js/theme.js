// Remembers the light/dark choice per browser.
const key = "sdpm.darkMode";

export function getDarkMode() {
    const v = localStorage.getItem(key);
    if (v === null) {
        return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    }
    return v === "true";
}

export function setDarkMode(dark) {
    localStorage.setItem(key, dark ? "true" : "false");
}
