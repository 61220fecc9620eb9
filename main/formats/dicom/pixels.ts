/**
 * Pixel-data facts shared by the Part 10 and DICOMweb readers, which see the same frames
 * through different transports.
 */

/** JFIF APP0 right after SOI: the writer says YCbCr, whatever DICOM's photometric tag says. */
export function hasJfif(b: Uint8Array): boolean {
  return b[2] === 0xff && b[3] === 0xe0 && b[6] === 0x4a && b[7] === 0x46 && b[8] === 0x49 && b[9] === 0x46;
}

/** Planar (PlanarConfiguration 1: all of sample 0, then sample 1…) to interleaved samples. */
export function interleave(b: Uint8Array, spp: number, pixels: number, bytes: number): Uint8Array {
  const out = new Uint8Array(pixels * spp * bytes);
  for (let s = 0; s < spp; s++) {
    for (let p = 0; p < pixels; p++) {
      for (let k = 0; k < bytes; k++) out[(p * spp + s) * bytes + k] = b[(s * pixels + p) * bytes + k] ?? 0;
    }
  }
  return out;
}
