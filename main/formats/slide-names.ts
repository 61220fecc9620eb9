/**
 * Which file names the slide engine recognises: formats decides what counts as a slide
 * (the storage browser marks these, the file dialog offers them); the S3 layer only lists
 * keys and is handed this test by the composition root.
 */

/** Lower-case name endings of the formats main/formats reads; longest first where they overlap. */
export const SLIDE_EXTENSIONS = ['.ome.tif', '.ome.tiff', '.svs', '.tif', '.tiff', '.ndpi', '.dcm', '.bif', '.scn', '.mrxs', '.qptiff', '.vsi', '.czi'];

/** Whether the slide engine recognises a file by its name (the storage browser dims the rest). */
export function isSlideName(key: string): boolean {
  const k = key.toLowerCase();
  return SLIDE_EXTENSIONS.some((ext) => k.endsWith(ext));
}
