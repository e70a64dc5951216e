// Pixel statistics of a PNG screenshot, decoded by the browser itself (no image library needed).
export async function pngStats(page, png) {
  const b64 = png.toString('base64');
  return page.evaluate(async (data) => {
    const img = new Image();
    img.src = `data:image/png;base64,${data}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, c.width, c.height).data;
    let lit = 0;
    let sum = 0;
    const hist = new Array(16).fill(0);
    for (let i = 0; i < px.length; i += 4) {
      const v = (px[i] + px[i + 1] + px[i + 2]) / 3;
      sum += v;
      if (v > 8) lit += 1;
      hist[Math.min(15, Math.floor(v / 16))] += 1;
    }
    const n = px.length / 4;
    return { width: c.width, height: c.height, mean: sum / n, litFraction: lit / n, distinctBins: hist.filter((h) => h > n * 0.001).length, raw: Array.from(px.filter((_, i) => i % 4 === 0)) };
  }, b64);
}

/** Mean absolute difference (0–255) between two equally sized grey sample arrays. */
export function meanAbsDiff(a, b) {
  const n = Math.min(a.length, b.length);
  let d = 0;
  for (let i = 0; i < n; i += 1) d += Math.abs(a[i] - b[i]);
  return n ? d / n : 0;
}

/**
 * Where a screenshot has a green line (Cornerstone's reference lines are drawn green): the
 * row and the column with the most pixels whose green outweighs red and blue by over 60 (an
 * antialiased line half on black or half on white still does; grey images and the yellow
 * overlay text never do), and the share of that row's or column's pixels.
 */
export async function greenLines(page, png) {
  const b64 = png.toString('base64');
  return page.evaluate(async (data) => {
    const img = new Image();
    img.src = `data:image/png;base64,${data}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, c.width, c.height).data;
    const rows = new Array(c.height).fill(0);
    const cols = new Array(c.width).fill(0);
    for (let y = 0; y < c.height; y += 1) {
      for (let x = 0; x < c.width; x += 1) {
        const i = (y * c.width + x) * 4;
        if (px[i + 1] - Math.max(px[i], px[i + 2]) > 60) {
          rows[y] += 1;
          cols[x] += 1;
        }
      }
    }
    const best = (counts, n) => {
      let at = 0;
      for (let i = 1; i < counts.length; i += 1) if (counts[i] > counts[at]) at = i;
      return { at, share: counts.length ? counts[at] / n : 0 };
    };
    return { width: c.width, height: c.height, row: best(rows, c.width), col: best(cols, c.height) };
  }, b64);
}
