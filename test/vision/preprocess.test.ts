import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  centreCropOffsets,
  DEFAULT_PREPROCESS,
  describePreprocessing,
  MAX_INPUT_PIXELS,
  MAX_RESIZED_PIXELS,
  pixelBudgetProblem,
  preprocessImage,
  resizedSize,
  roundHalfToEven,
} from '../../src/vision/preprocess.ts';
import type { PreprocessOptions, ReferenceImage } from '../../src/vision/types.ts';
import { inputErrorOf } from '../helpers.ts';
import { createTempDir, pixelsFrom, solidPixels, writeBytes, writePng, type RawPixels } from '../helpers-images.ts';

/** Bytes in, bytes out: no scaling, no normalisation, so tensors can be read as pixel values. */
const IDENTITY: PreprocessOptions = {
  resize: 8,
  crop: 8,
  channelOrder: 'RGB',
  scale: '0-255',
  mean: [0, 0, 0],
  std: [1, 1, 1],
  interpolation: 'bilinear',
  layout: 'NCHW',
};

const KERNELS: PreprocessOptions['interpolation'][] = ['bilinear', 'bicubic', 'nearest', 'lanczos3'];

/** Writes `pixels` as `images/<name>` under a fresh temp dir and returns it as a reference image. */
async function referencePng(name: string, pixels: RawPixels, options: { orientation?: number } = {}): Promise<ReferenceImage> {
  const root = await createTempDir();
  const relativePath = `images/${name}`;
  return { path: await writePng(path.join(root, relativePath), pixels, options), relativePath };
}

/** Lets `write` create `images/<name>` under a fresh temp dir (the directory exists) and returns it as a reference image. */
async function referenceFile(name: string, write: (file: string) => Promise<unknown>): Promise<ReferenceImage> {
  const root = await createTempDir();
  const relativePath = `images/${name}`;
  const file = path.join(root, relativePath);
  await mkdir(path.dirname(file), { recursive: true });
  await write(file);
  return { path: file, relativePath };
}

/** NCHW value of channel c at (x, y) in a crop×crop tensor. */
const nchw = (tensor: Float32Array, crop: number, c: number, x: number, y: number) => tensor[c * crop * crop + y * crop + x];
/** NHWC value of channel c at (x, y). */
const nhwc = (tensor: Float32Array, crop: number, c: number, x: number, y: number) => tensor[(y * crop + x) * 3 + c];

describe('preprocessImage on a 10×8 image (resize 8, crop 8: no resize, columns 1..8)', () => {
  // R = 20x + y, G = 255 − (20x + y), B = 30y + x: every pixel and channel distinct.
  const gradient = pixelsFrom(10, 8, 3, (x, y) => [20 * x + y, 255 - (20 * x + y), 30 * y + x]);

  it('returns the cropped bytes in NCHW, RGB, 0-255', async () => {
    const image = await referencePng('gradient.png', gradient);
    const tensor = await preprocessImage(image, IDENTITY);
    expect(tensor).toBeInstanceOf(Float32Array);
    expect(tensor.length).toBe(3 * 8 * 8);
    // By hand: output (0,0) is source (1,0); output (7,7) is source (8,7).
    expect(tensor[0]).toBe(20); // R(1,0)
    expect(tensor[7]).toBe(160); // R(8,0)
    expect(tensor[1 * 8 + 3]).toBe(81); // R(4,1)
    expect(tensor[64]).toBe(235); // G(1,0)
    expect(tensor[128 + 7 * 8 + 7]).toBe(218); // B(8,7)
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const source = 20 * (x + 1) + y;
        expect([nchw(tensor, 8, 0, x, y), nchw(tensor, 8, 1, x, y), nchw(tensor, 8, 2, x, y)]).toEqual([source, 255 - source, 30 * y + x + 1]);
      }
    }
  });

  it('interleaves channels in NHWC', async () => {
    const image = await referencePng('gradient.png', gradient);
    const tensor = await preprocessImage(image, { ...IDENTITY, layout: 'NHWC' });
    expect(Array.from(tensor.subarray(0, 3))).toEqual([20, 235, 1]);
    expect(Array.from(tensor.subarray(63 * 3, 64 * 3))).toEqual([167, 88, 218]);
    expect(nhwc(tensor, 8, 0, 3, 1)).toBe(81);
    expect(nhwc(tensor, 8, 2, 5, 6)).toBe(186);
  });

  it('puts blue first for BGR and applies mean/std given in BGR order', async () => {
    const image = await referencePng('gradient.png', gradient);
    const options: PreprocessOptions = { ...IDENTITY, channelOrder: 'BGR', mean: [10, 20, 30], std: [2, 4, 5] };
    const tensor = await preprocessImage(image, options);
    // (0,0) is source (1,0): B = 1, G = 235, R = 20.
    expect(nchw(tensor, 8, 0, 0, 0)).toBe(-4.5); // (1 − 10) / 2
    expect(nchw(tensor, 8, 1, 0, 0)).toBe(53.75); // (235 − 20) / 4
    expect(nchw(tensor, 8, 2, 0, 0)).toBe(-2); // (20 − 30) / 5
    // (7,7) is source (8,7): B = 218, G = 88, R = 167.
    expect(nchw(tensor, 8, 0, 7, 7)).toBe(104);
    expect(nchw(tensor, 8, 1, 7, 7)).toBe(17);
    expect(nchw(tensor, 8, 2, 7, 7)).toBeCloseTo(27.4, 5);
    const interleaved = await preprocessImage(image, { ...options, layout: 'NHWC' });
    expect(Array.from(interleaved.subarray(0, 3))).toEqual([-4.5, 53.75, -2]);
  });

  it('scales to 0-1 and normalises with ImageNet statistics in float32, as torchvision does', async () => {
    const image = await referencePng('gradient.png', gradient);
    const tensor = await preprocessImage(image, { ...DEFAULT_PREPROCESS, resize: 8, crop: 8 });
    expect(nchw(tensor, 8, 0, 0, 0)).toBeCloseTo((20 / 255 - 0.485) / 0.229, 5); // ≈ −1.77541
    expect(nchw(tensor, 8, 1, 0, 0)).toBeCloseTo((235 / 255 - 0.456) / 0.224, 5); // ≈ 2.08824
    expect(nchw(tensor, 8, 2, 7, 7)).toBeCloseTo((218 / 255 - 0.406) / 0.225, 5); // ≈ 1.99520
    // PyTorch: ToTensor divides in float32, Normalize subtracts and divides float32 tensors.
    // Evaluating in float64 and rounding once differs in the last bit for about half the bytes.
    const f = Math.fround;
    const torch = (byte: number, c: number) => f(f(f(byte / 255) - f(DEFAULT_PREPROCESS.mean[c] as number)) / f(DEFAULT_PREPROCESS.std[c] as number));
    expect(nchw(tensor, 8, 0, 0, 0)).toBe(torch(20, 0));
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const source = 20 * (x + 1) + y;
        const expected = [torch(source, 0), torch(255 - source, 1), torch(30 * y + x + 1, 2)];
        expect([nchw(tensor, 8, 0, x, y), nchw(tensor, 8, 1, x, y), nchw(tensor, 8, 2, x, y)]).toEqual(expected);
      }
    }
  });

  it('gives the same pixel-exact tensor whatever the kernel when the shorter side is already `resize`', async () => {
    const image = await referencePng('gradient.png', gradient);
    const tensors = await Promise.all(KERNELS.map((interpolation) => preprocessImage(image, { ...IDENTITY, interpolation })));
    for (const tensor of tensors) expect(Array.from(tensor)).toEqual(Array.from(tensors[0] as Float32Array));
  });
});

describe('preprocessImage resizing', () => {
  it.each(KERNELS)('keeps a constant colour constant when shrinking and enlarging (%s)', async (interpolation) => {
    const colour = [200, 13, 77] as const;
    for (const [width, height, resize, crop] of [
      [12, 9, 6, 4], // 12×9 → 8×6
      [5, 4, 8, 8], // 5×4 → 10×8
    ] as const) {
      const image = await referencePng(`solid-${width}x${height}.png`, solidPixels(width, height, colour));
      const tensor = await preprocessImage(image, { ...IDENTITY, resize, crop, interpolation });
      expect(tensor.length).toBe(3 * crop * crop);
      for (let c = 0; c < 3; c++) expect(new Set(tensor.subarray(c * crop * crop, (c + 1) * crop * crop))).toEqual(new Set([colour[c]]));
    }
  });

  it('halves with nearest neighbour by taking the odd rows and columns', async () => {
    // 16×20 → 8×10 (factor 2: output i samples source 2i + 1), then crop 8: top = round(1) = 1.
    const image = await referencePng('nearest.png', pixelsFrom(16, 20, 3, (x, y) => [15 * x, 12 * y, 5 * (x + y)]));
    const tensor = await preprocessImage(image, { ...IDENTITY, interpolation: 'nearest' });
    expect(nchw(tensor, 8, 0, 0, 0)).toBe(15); // R at source x = 1
    expect(nchw(tensor, 8, 1, 0, 0)).toBe(36); // G at source y = 3
    expect(nchw(tensor, 8, 2, 7, 7)).toBe(5 * (15 + 17)); // source (15, 17)
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const [sx, sy] = [2 * x + 1, 2 * y + 3];
        expect([nchw(tensor, 8, 0, x, y), nchw(tensor, 8, 1, x, y), nchw(tensor, 8, 2, x, y)]).toEqual([15 * sx, 12 * sy, 5 * (sx + sy)]);
      }
    }
  });

  it('truncates the longer side (7×10 → 4×5, not 4×6) before cropping', async () => {
    // Rows only vary, so the check does not depend on how 7 → 4 columns are sampled.
    // Height 5 (truncated): top = round(0.5) = 0, rows sample 1, 3, 5, 7. Height 6 (rounded) would give top = 1.
    const image = await referencePng('tall.png', pixelsFrom(7, 10, 3, (_x, y) => [20 * y, 20 * y + 1, 9]));
    const tensor = await preprocessImage(image, { ...IDENTITY, resize: 4, crop: 4, interpolation: 'nearest' });
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) expect(nchw(tensor, 4, 0, x, y)).toBe(20 * (2 * y + 1));
    }
  });
});

describe('centre crop offsets (torchvision int(round(x)), ties to even)', () => {
  const columns = (width: number, height: number) => pixelsFrom(width, height, 3, (x, y) => [20 * x, 20 * y, 0]);

  it.each([
    // [width, height, expected left, expected top]
    [11, 8, 2, 1], // left = round(2.5) = 2, not 3
    [13, 8, 4, 1], // left = round(3.5) = 4
    [8, 11, 1, 2], // top = round(2.5) = 2
  ])('crops 6×6 from %i×%i at left %i, top %i', async (width, height, left, top) => {
    const image = await referencePng(`crop-${width}x${height}.png`, columns(width, height));
    const tensor = await preprocessImage(image, { ...IDENTITY, crop: 6 });
    expect(nchw(tensor, 6, 0, 0, 0)).toBe(20 * left);
    expect(nchw(tensor, 6, 1, 0, 0)).toBe(20 * top);
    expect(nchw(tensor, 6, 0, 5, 5)).toBe(20 * (left + 5));
  });

  it('computes offsets and sizes like torchvision', () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4, 2.6, 3, -0.5, -1.5].map(roundHalfToEven)).toEqual([0, 2, 2, 4, 2, 3, 3, 0, -2]);
    expect(centreCropOffsets(11, 8, 6)).toEqual({ top: 1, left: 2 });
    expect(centreCropOffsets(341, 256, 224)).toEqual({ top: 16, left: 58 }); // round(58.5) = 58
    expect(resizedSize(7, 10, 4)).toEqual({ width: 4, height: 5 }); // int(5.71)
    expect(resizedSize(10, 7, 4)).toEqual({ width: 5, height: 4 });
    expect(resizedSize(640, 480, 256)).toEqual({ width: 341, height: 256 });
    expect(resizedSize(300, 300, 256)).toEqual({ width: 256, height: 256 });
    expect(resizedSize(10, 8, 8)).toEqual({ width: 10, height: 8 });
  });
});

describe('preprocessImage colour handling', () => {
  it('replicates greyscale to three equal channels', async () => {
    const image = await referencePng('grey.png', pixelsFrom(8, 8, 1, (x, y) => [3 * x + 25 * y]));
    expect((await sharp(image.path).metadata()).channels).toBe(1); // really a 1-channel file
    const tensor = await preprocessImage(image, IDENTITY);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const value = 3 * x + 25 * y;
        expect([nchw(tensor, 8, 0, x, y), nchw(tensor, 8, 1, x, y), nchw(tensor, 8, 2, x, y)]).toEqual([value, value, value]);
      }
    }
  });

  it('drops alpha and keeps the stored colour of transparent pixels (PIL convert("RGB"))', async () => {
    const rgba = pixelsFrom(8, 8, 4, (x, y) => [10 * x, 10 * y, 100, (37 * (x + 8 * y)) % 256]);
    const image = await referencePng('rgba.png', rgba);
    const tensor = await preprocessImage(image, IDENTITY);
    expect([nchw(tensor, 8, 0, 0, 0), nchw(tensor, 8, 1, 0, 0), nchw(tensor, 8, 2, 0, 0)]).toEqual([0, 0, 100]); // alpha 0 there
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) expect([nchw(tensor, 8, 0, x, y), nchw(tensor, 8, 1, x, y), nchw(tensor, 8, 2, x, y)]).toEqual([10 * x, 10 * y, 100]);
    }
  });

  it('drops alpha from greyscale + alpha', async () => {
    const image = await referencePng('grey-alpha.png', pixelsFrom(8, 8, 2, (x, y) => [5 * x + 30 * y, 255 - 30 * x]));
    const tensor = await preprocessImage(image, { ...IDENTITY, layout: 'NHWC' });
    expect(Array.from(tensor.subarray((2 * 8 + 3) * 3, (2 * 8 + 3) * 3 + 3))).toEqual([75, 75, 75]);
  });

  it('feeds the stored bytes of an image with an ICC profile, not colour-managed ones (as PIL does)', async () => {
    const image = await referenceFile('p3.png', (file) =>
      sharp(pixelsFrom(8, 8, 3, (x, y) => [30 * x, 30 * y, 200]).data, { raw: { width: 8, height: 8, channels: 3 } })
        .withIccProfile('p3')
        .png()
        .toFile(file),
    );
    const stored = await sharp(image.path, { ignoreIcc: true }).raw().toBuffer();
    const managed = await sharp(image.path).raw().toBuffer();
    expect(Buffer.compare(stored, managed)).not.toBe(0); // the profile matters for this file
    const tensor = await preprocessImage(image, { ...IDENTITY, layout: 'NHWC' });
    expect(Array.from(tensor)).toEqual(Array.from(stored));
  });

  it('applies EXIF orientation before cropping', async () => {
    // Stored 8×10 with orientation 6 (rotate 90° clockwise) is shown 10×8: shown (x', y') = stored (y', 9 − x').
    // resize 8 keeps it, crop 8 starts at left 1: output (x, y) = stored (y, 8 − x).
    const image = await referencePng('rotated.png', pixelsFrom(8, 10, 3, (x, y) => [20 * x, 20 * y, 0]), { orientation: 6 });
    const tensor = await preprocessImage(image, IDENTITY);
    expect([nchw(tensor, 8, 0, 0, 0), nchw(tensor, 8, 1, 0, 0)]).toEqual([0, 160]);
    expect([nchw(tensor, 8, 0, 7, 3), nchw(tensor, 8, 1, 7, 3)]).toEqual([60, 20]);
  });
});

describe('preprocessImage rejects bad input with an InputError naming the file', () => {
  it('random bytes named .png', async () => {
    const image = await referenceFile('junk.png', (file) => writeBytes(file, Uint8Array.from({ length: 256 }, (_, i) => (i * 73 + 41) % 256)));
    const error = await inputErrorOf(preprocessImage(image, IDENTITY));
    expect(error.message).toMatch(/^Reference image images\/junk\.png could not be decoded as an image: \S/);
  });

  it('a CMYK JPEG', async () => {
    const image = await referenceFile('cmyk.jpg', (file) =>
      sharp(solidPixels(8, 8, [200, 40, 90]).data, { raw: { width: 8, height: 8, channels: 3 } })
        .toColourspace('cmyk')
        .jpeg()
        .toFile(file),
    );
    expect((await sharp(image.path).metadata()).space).toBe('cmyk');
    const error = await inputErrorOf(preprocessImage(image, IDENTITY));
    expect(error.message).toContain('images/cmyk.jpg is a CMYK image');
    expect(error.hint).toMatch(/8-bit sRGB/);
  });

  it('a 16-bit PNG', async () => {
    const image = await referenceFile('deep.png', (file) =>
      // A Uint16Array input makes sharp read 16-bit samples; rgb16 keeps them 16-bit in the PNG.
      sharp(Uint16Array.from({ length: 8 * 8 * 3 }, (_, i) => i * 300), { raw: { width: 8, height: 8, channels: 3 } })
        .toColourspace('rgb16')
        .png()
        .toFile(file),
    );
    expect((await sharp(image.path).metadata()).depth).toBe('ushort');
    const error = await inputErrorOf(preprocessImage(image, IDENTITY));
    expect(error.message).toContain('images/deep.png has 16-bit samples');
    expect(error.hint).toMatch(/8-bit/);
  });

  it('crop larger than resize', async () => {
    const image = await referencePng('fine.png', solidPixels(8, 8, [1, 2, 3]));
    const error = await inputErrorOf(preprocessImage(image, { ...IDENTITY, crop: 10 }));
    expect(error.message).toBe('Cannot preprocess images/fine.png: crop (10) is larger than resize (8)');
  });

  it('a missing file', async () => {
    const root = await createTempDir();
    const error = await inputErrorOf(preprocessImage({ path: path.join(root, 'images/gone.png'), relativePath: 'images/gone.png' }, IDENTITY));
    expect(error.message).toMatch(/^Reference image images\/gone\.png could not be read: .*ENOENT/);
  });

  it('a Git LFS pointer', async () => {
    const pointer = 'version https://git-lfs.github.com/spec/v1\noid sha256:' + '0'.repeat(64) + '\nsize 12345\n';
    const image = await referenceFile('lfs.png', (file) => writeBytes(file, pointer));
    const error = await inputErrorOf(preprocessImage(image, IDENTITY));
    expect(error.message).toContain('images/lfs.png is a Git LFS pointer');
    expect(error.hint).toContain('lfs: true');
  });
});

/** CRC-32 (PNG's chunk checksum), so a test can rewrite an IHDR. */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('preprocessImage bounds the pixels it decodes and resizes (from the header, before decoding)', () => {
  it('refuses a 1×20000 strip that resize 256 would make 256×5,120,000, quickly and naming the file', { timeout: 30_000 }, async () => {
    const image = await referenceFile('strip.png', (file) => sharp({ create: { width: 1, height: 20_000, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toFile(file));
    const started = Date.now();
    const error = await inputErrorOf(preprocessImage(image, { ...DEFAULT_PREPROCESS }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.message).toBe(
      `Reference image images/strip.png is 1×20000, which resizing the shorter side to 256 makes 256×5120000 (1310720000 pixels); the limit is ${MAX_RESIZED_PIXELS} pixels (MAX_RESIZED_PIXELS)`,
    );
    expect(error.hint).toMatch(/Crop or downscale/);
  });

  it('refuses an image whose header claims more than MAX_INPUT_PIXELS, without decoding it', async () => {
    const png = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer());
    // IHDR data starts at byte 16 (8 signature, 4 length, 4 type); its CRC covers type + data (bytes 12..28).
    png.writeUInt32BE(100_000, 16);
    png.writeUInt32BE(100_000, 20);
    png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
    const image = await referenceFile('huge.png', (file) => writeBytes(file, png));
    const error = await inputErrorOf(preprocessImage(image, IDENTITY));
    expect(error.message).toBe(`Reference image images/huge.png is 100000×100000 (10000000000 pixels); bias-gate decodes at most ${MAX_INPUT_PIXELS} pixels (MAX_INPUT_PIXELS)`);
  });

  it('admits aspect ratios up to 256:1 at resize 256 and refuses beyond', () => {
    expect(MAX_INPUT_PIXELS).toBe(8192 * 8192);
    expect(MAX_RESIZED_PIXELS).toBe(4096 * 4096);
    expect(pixelBudgetProblem(10, 2560, 256)).toBeUndefined();
    expect(pixelBudgetProblem(2570, 10, 256)).toContain('MAX_RESIZED_PIXELS');
    expect(pixelBudgetProblem(8192, 8192, 256)).toBeUndefined();
    expect(pixelBudgetProblem(8193, 8192, 256)).toContain('MAX_INPUT_PIXELS');
  });

  it('refuses a resize that no image fits', async () => {
    const image = await referencePng('fine.png', solidPixels(8, 8, [1, 2, 3]));
    const error = await inputErrorOf(preprocessImage(image, { ...IDENTITY, resize: 5000 }));
    expect(error.message).toBe(`Cannot preprocess images/fine.png: resize (5000) makes even a square image larger than ${MAX_RESIZED_PIXELS} pixels (MAX_RESIZED_PIXELS)`);
  });
});

describe('DEFAULT_PREPROCESS and describePreprocessing', () => {
  it('is the torchvision ImageNet evaluation transform', () => {
    expect(DEFAULT_PREPROCESS).toEqual({
      resize: 256,
      crop: 224,
      channelOrder: 'RGB',
      scale: '0-1',
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      interpolation: 'bilinear',
      layout: 'NCHW',
    });
    expect(Object.isFrozen(DEFAULT_PREPROCESS)).toBe(true);
  });

  it('describes the options on one line', () => {
    const line = describePreprocessing(DEFAULT_PREPROCESS);
    expect(line).toBe('resize shorter side to 256 (bilinear), centre crop 224×224, RGB, scale 0-1, mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225], NCHW');
    expect(line).not.toContain('\n');
  });
});
