// Pixels of PNG screenshots, decoded by the browser itself (no image library needed): one
// decoder (`decodePng`), and the statistics the browser tests compute from its RGBA bytes.

/** { width, height, data }: the PNG's RGBA bytes (a Buffer, 4 per pixel, row by row). */
export async function decodePng(page, png) {
  const b64 = png.toString('base64');
  const out = await page.evaluate(async (data) => {
    const img = new Image();
    img.src = `data:image/png;base64,${data}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, c.width, c.height).data;
    let bin = '';
    for (let i = 0; i < px.length; i += 0x8000) bin += String.fromCharCode(...px.subarray(i, i + 0x8000));
    return { width: c.width, height: c.height, rgba: btoa(bin) };
  }, b64);
  return { width: out.width, height: out.height, data: Buffer.from(out.rgba, 'base64') };
}

/** Pixel statistics of a PNG screenshot (grey levels: the mean of R, G and B). */
export async function pngStats(page, png) {
  const { width, height, data: px } = await decodePng(page, png);
  let lit = 0;
  let sum = 0;
  const hist = new Array(16).fill(0);
  const raw = [];
  for (let i = 0; i < px.length; i += 4) {
    const v = (px[i] + px[i + 1] + px[i + 2]) / 3;
    sum += v;
    if (v > 8) lit += 1;
    hist[Math.min(15, Math.floor(v / 16))] += 1;
    raw.push(px[i]);
  }
  const n = px.length / 4;
  return { width, height, mean: sum / n, litFraction: lit / n, distinctBins: hist.filter((h) => h > n * 0.001).length, raw };
}

/** Mean absolute difference (0–255) between two equally sized grey sample arrays. */
export function meanAbsDiff(a, b) {
  const n = Math.min(a.length, b.length);
  let d = 0;
  for (let i = 0; i < n; i += 1) d += Math.abs(a[i] - b[i]);
  return n ? d / n : 0;
}

/** Whether pixel (x, y) differs by more than `threshold` levels in some channel between two decoded images. */
export function pixelChanged(a, b, x, y, threshold = 60) {
  const i = (y * a.width + x) * 4;
  return Math.abs(a.data[i] - b.data[i]) > threshold || Math.abs(a.data[i + 1] - b.data[i + 1]) > threshold || Math.abs(a.data[i + 2] - b.data[i + 2]) > threshold;
}

/** Share of pixels that differ (as `pixelChanged` says) between two decoded images. */
export function changedFraction(a, b, threshold = 60) {
  const w = Math.min(a.width, b.width);
  const h = Math.min(a.height, b.height);
  let changed = 0;
  for (let y = 0; y < h; y += 1) for (let x = 0; x < w; x += 1) if (pixelChanged(a, b, x, y, threshold)) changed += 1;
  return w * h ? changed / (w * h) : 0;
}

/**
 * Where a screenshot has a green line (Cornerstone's reference lines are drawn green): the
 * row and the column with the most pixels whose green outweighs red and blue by over 60 (an
 * antialiased line half on black or half on white still does; grey images and the yellow
 * overlay text never do), and the share of that row's or column's pixels.
 */
export async function greenLines(page, png) {
  const { width, height, data: px } = await decodePng(page, png);
  const rows = new Array(height).fill(0);
  const cols = new Array(width).fill(0);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = (y * width + x) * 4;
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
  return { width, height, row: best(rows, width), col: best(cols, height) };
}

/**
 * Bright grey pixels of a screenshot (all of red, green and blue at least `min` and within 40 of
 * one another: coloured crosshairs and the yellow overlay text never count): how many, their
 * centroid (x, y in screenshot pixels), and the mean grey of a square of `radius` around each of
 * `probes` ([x, y] in screenshot pixels).
 */
export async function brightRegion(page, png, { min = 200, probes = [], radius = 2 } = {}) {
  const b64 = png.toString('base64');
  return page.evaluate(
    async ({ data, min, probes, radius }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${data}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, c.width, c.height).data;
      let count = 0;
      let sx = 0;
      let sy = 0;
      for (let y = 0; y < c.height; y += 1) {
        for (let x = 0; x < c.width; x += 1) {
          const i = (y * c.width + x) * 4;
          const lo = Math.min(px[i], px[i + 1], px[i + 2]);
          const hi = Math.max(px[i], px[i + 1], px[i + 2]);
          if (lo >= min && hi - lo <= 40) {
            count += 1;
            sx += x;
            sy += y;
          }
        }
      }
      const probe = ([px0, py0]) => {
        let sum = 0;
        let n = 0;
        for (let y = Math.round(py0) - radius; y <= Math.round(py0) + radius; y += 1) {
          for (let x = Math.round(px0) - radius; x <= Math.round(px0) + radius; x += 1) {
            if (x < 0 || y < 0 || x >= c.width || y >= c.height) continue;
            const i = (y * c.width + x) * 4;
            sum += (px[i] + px[i + 1] + px[i + 2]) / 3;
            n += 1;
          }
        }
        return n ? sum / n : 0;
      };
      return {
        width: c.width,
        height: c.height,
        count,
        centroid: count ? [sx / count, sy / count] : null,
        probes: probes.map(probe),
      };
    },
    { data: b64, min, probes, radius },
  );
}
