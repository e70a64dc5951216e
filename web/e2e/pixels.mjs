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
