// Span colors for the trace viewer (waterfall bars, flame graph, legend pills, summary swatches).
//
// The span names the seed documents get fixed, meaningful colors so that the same kind of work looks
// the same in every trace; any other name gets a color derived from a hash of the name, so it is stable
// across page loads and traces without any stored state. Each color carries the label color (near
// black or white) that has the higher WCAG contrast against it, so text drawn on a bar stays readable.
// Red is kept for error marks: auto-assigned hues skip the red band.

// Semantic colors, chosen so neighbours in a typical voice trace (turn > stt/llm/tts) differ in hue.
const SEMANTIC = {
  conversation: '#475569',
  pipeline: '#64748b',
  transport: '#8b7e74',
  turn: '#4f46e5',
  stt: '#0f766e',
  vad: '#65a30d',
  llm: '#7c3aed',
  llm_tool_call: '#d97706',
  tool_call: '#ea8a0c',
  tts: '#db2777',
};
// stt.provider.<name>: per-provider attempts, a lighter shade of the stt teal.
const STT_PROVIDER = '#2bb5a6';
const STT_PROVIDER_PREFIX = 'stt.provider.';

const DARK_TEXT = '#111827';
const LIGHT_TEXT = '#ffffff';

// Memoised by name: a trace has few distinct names but the canvas asks once per drawn bar.
const cache = new Map();
const CACHE_MAX = 4096;

// colorFor(name) -> {fill, text}: the bar color (as "#rrggbb") and the label color to use on it.
export function colorFor(name) {
  const key = typeof name === 'string' ? name : String(name ?? '');
  let c = cache.get(key);
  if (c) return c;
  let fill = SEMANTIC[key];
  if (!fill && key.startsWith(STT_PROVIDER_PREFIX)) fill = STT_PROVIDER;
  if (!fill) fill = autoColor(key);
  c = { fill, text: labelColor(fill) };
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, c);
  return c;
}

// FNV-1a over UTF-16 code units: cheap, and spreads similar names (llm_1, llm_2) over distant hues.
function hash(s) {
  let x = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193);
  }
  return x >>> 0;
}

function autoColor(name) {
  const x = hash(name);
  // Hue 25..335 keeps clear of the error red; saturation and lightness vary a little so two names
  // with close hues still differ.
  const hue = 25 + (x % 311);
  const sat = 0.55 + ((x >>> 9) % 4) * 0.07;
  const light = 0.40 + ((x >>> 13) % 4) * 0.06;
  return rgbHex(hslToRgb(hue, sat, light));
}

function hslToRgb(hDeg, s, l) {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const hp = hDeg / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  let r = 0, g = 0, b = 0;
  if (hp < 1) [r, g, b] = [c, x, 0];
  else if (hp < 2) [r, g, b] = [x, c, 0];
  else if (hp < 3) [r, g, b] = [0, c, x];
  else if (hp < 4) [r, g, b] = [0, x, c];
  else if (hp < 5) [r, g, b] = [x, 0, c];
  else [r, g, b] = [c, 0, x];
  const m = l - c / 2;
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

function rgbHex(rgb) {
  return '#' + rgb.map((v) => v.toString(16).padStart(2, '0')).join('');
}

function hexRgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

// WCAG 2 relative luminance and contrast ratio.
function luminance(rgb) {
  const lin = rgb.map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

// contrastRatio(a, b) for two "#rrggbb" colors, 1..21.
export function contrastRatio(a, b) {
  const la = luminance(hexRgb(a));
  const lb = luminance(hexRgb(b));
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

function labelColor(fill) {
  return contrastRatio(fill, DARK_TEXT) >= contrastRatio(fill, LIGHT_TEXT) ? DARK_TEXT : LIGHT_TEXT;
}
