/**
 * From the drawing pad to the model's input: the ink's bounding box scaled to fit 20×20 and centred
 * in 28×28 (the digits' own framing: white ink on black, values in [0, 1]).
 */
export const SIDE = 28;
const BOX = 20;

export function inkToInput(pad: HTMLCanvasElement): Float32Array | null {
  const ctx = pad.getContext('2d', { willReadFrequently: true })!;
  const { width, height } = pad;
  const data = ctx.getImageData(0, 0, width, height).data;
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[(y * width + x) * 4]! > 16) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  if (maxX < 0) return null;
  const w = maxX - minX + 1;
  const h = maxY - minY + 1;
  const scale = BOX / Math.max(w, h);
  const small = document.createElement('canvas');
  small.width = SIDE;
  small.height = SIDE;
  const s = small.getContext('2d', { willReadFrequently: true })!;
  s.fillStyle = '#000';
  s.fillRect(0, 0, SIDE, SIDE);
  s.imageSmoothingEnabled = true;
  s.imageSmoothingQuality = 'high';
  const dw = w * scale;
  const dh = h * scale;
  s.drawImage(pad, minX, minY, w, h, (SIDE - dw) / 2, (SIDE - dh) / 2, dw, dh);
  const px = s.getImageData(0, 0, SIDE, SIDE).data;
  const input = new Float32Array(SIDE * SIDE);
  for (let i = 0; i < input.length; i++) input[i] = px[i * 4]! / 255;
  return input;
}

/** Paints 28×28 values in [0, 1] onto the pad (a test digit, or a saved drawing). */
export function paintPixels(pad: HTMLCanvasElement, pixels: ArrayLike<number>): void {
  const small = document.createElement('canvas');
  small.width = SIDE;
  small.height = SIDE;
  const s = small.getContext('2d')!;
  const image = s.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const v = Math.round(Math.min(1, Math.max(0, Number(pixels[i] ?? 0))) * 255);
    image.data.set([v, v, v, 255], i * 4);
  }
  s.putImageData(image, 0, 0);
  const ctx = pad.getContext('2d')!;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(small, 0, 0, pad.width, pad.height);
}
