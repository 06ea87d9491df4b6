/** Building DOM without markup strings: text is always text, never HTML. */

type Child = Node | string | number | null | undefined | false;

/** An element with attributes (`text` sets its text) and children. */
export function el(
  tag: string,
  attrs: Record<string, string | number | boolean | null | undefined> = {},
  ...children: Child[]
): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) {
      continue;
    }
    if (k === 'class') {
      e.className = String(v);
    } else if (k === 'text') {
      e.textContent = String(v);
    } else if (k === 'hidden') {
      e.hidden = true;
    } else {
      e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) {
      continue;
    }
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
