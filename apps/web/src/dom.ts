/** Looks up an element the page's HTML is known to hold. */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page lacks #${id}`);
  return el as T;
}

/** An element with text content (never HTML: everything shown may come from the archive). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

/** One formatter: toLocaleString builds a new one per call, which cost the page more than painting the count. */
const numbers = new Intl.NumberFormat('en-US');
export const num = (x: number): string => numbers.format(x);
