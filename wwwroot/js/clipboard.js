// Copies text for the copy buttons (CopyableSecret). navigator.clipboard needs a secure context (https or localhost);
// a portal reached over plain http on another host falls back to the older execCommand path.
export async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
        try {
            await navigator.clipboard.writeText(text);
            return true;
        } catch {
            // denied or unfocused document: try the fallback below
        }
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    // Next to the focused button, so that a dialog's focus trap does not pull the selection away.
    (document.activeElement?.parentElement ?? document.body).appendChild(area);
    area.select();
    try {
        return document.execCommand("copy");
    } catch {
        return false;
    } finally {
        area.remove();
    }
}
