/** TIFF tag numbers the readers use; names follow the TIFF 6 spec and tifffile. */
export const Tag = {
  NewSubfileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  ImageDescription: 270,
  Make: 271,
  Model: 272,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  XResolution: 282,
  YResolution: 283,
  PlanarConfiguration: 284,
  ResolutionUnit: 296,
  Software: 305,
  DateTime: 306,
  Predictor: 317,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  SubIFDs: 330,
  SampleFormat: 339,
  JPEGTables: 347,
  YCbCrSubSampling: 530,
  XMP: 700,
  ImageDepth: 32997,
  ICCProfile: 34675,
  // Hamamatsu NDPI private tags
  NdpiOffsetHighBytes: 65324,
  NdpiFormatFlag: 65420,
  NdpiSourceLens: 65421,
  NdpiXOffset: 65422,
  NdpiYOffset: 65423,
  NdpiFocalPlane: 65424,
  NdpiMcuStarts: 65426,
  NdpiReference: 65427,
  NdpiMcuStartsHighBytes: 65432,
  NdpiPropertyMap: 65449,
} as const;

export const Compression = {
  None: 1,
  LZW: 5,
  OldJPEG: 6,
  JPEG: 7,
  AdobeDeflate: 8,
  Deflate: 32946,
  PackBits: 32773,
  Jp2kYCbCr: 33003,
  Jp2kLossy: 33004,
  Jp2kRGB: 33005,
  JPEG2000: 34712,
  JPEGXL: 50002,
  Zstd: 50000,
  WebP: 50001,
} as const;

/** Tags whose values can be large arrays; they stay on disk until a level needs them. */
export const LAZY_TAGS: ReadonlySet<number> = new Set([
  Tag.StripOffsets,
  Tag.StripByteCounts,
  Tag.TileOffsets,
  Tag.TileByteCounts,
  Tag.NdpiMcuStarts,
  Tag.NdpiMcuStartsHighBytes,
  Tag.ICCProfile,
  Tag.XMP,
  34665, // Exif IFD: never needed to draw a slide
]);

/** Byte size of one value of each TIFF field type; 0 for unknown types. */
export function typeSize(type: number): number {
  switch (type) {
    case 1: case 2: case 6: case 7: return 1;
    case 3: case 8: return 2;
    case 4: case 9: case 11: case 13: return 4;
    case 5: case 10: case 12: case 16: case 17: case 18: return 8;
    default: return 0;
  }
}
