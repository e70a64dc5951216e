/** Patient-orientation letters (LPS: +x Left, +y Posterior, +z Head) for a direction vector. */
export type Vec3 = [number, number, number];

const LETTERS: [string, string][] = [
  ['L', 'R'],
  ['P', 'A'],
  ['H', 'F'],
];

export function orientationLetters(v: Vec3, threshold = 0.25): string {
  const len = Math.hypot(v[0], v[1], v[2]);
  if (len === 0) return '';
  const n = v.map((c) => c / len);
  return [0, 1, 2]
    .filter((i) => Math.abs(n[i]) >= threshold)
    .sort((a, b) => Math.abs(n[b]) - Math.abs(n[a]))
    .map((i) => (n[i] > 0 ? LETTERS[i][0] : LETTERS[i][1]))
    .join('');
}

export function negate(v: Vec3): Vec3 {
  return [-v[0], -v[1], -v[2]];
}

/** Markers at the four screen edges, from the screen-right and screen-up directions in patient space. */
export function edgeMarkers(right: Vec3, up: Vec3): { left: string; right: string; top: string; bottom: string } {
  return {
    left: orientationLetters(negate(right)),
    right: orientationLetters(right),
    top: orientationLetters(up),
    bottom: orientationLetters(negate(up)),
  };
}
