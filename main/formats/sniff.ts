/**
 * Names what we recognise but cannot read, so the user is told "Zeiss CZI is not
 * supported yet" instead of "unknown file". Runs only after every format declined.
 */
import { ascii } from './bytes.js';
import type { TiffFile } from './tiff/parse.js';
import { Tag } from './tiff/tags.js';

export interface Recognised {
  format: string;
  name: string;
}

function startsWith(head: Uint8Array, bytes: readonly number[], at = 0): boolean {
  return bytes.every((b, i) => head[at + i] === b);
}

export function recognise(head: Uint8Array, uri: string, tiff: TiffFile | undefined): Recognised | undefined {
  const lowerUri = uri.toLowerCase();
  if (tiff) {
    const first = tiff.ifds[0]!;
    const desc = first.description ?? '';
    if (first.has(33560) || lowerUri.endsWith('.vsi')) return { format: 'olympus-vsi', name: 'Olympus cellSens VSI' };
    if (desc.includes('PerkinElmer-QPI-ImageDescription') || lowerUri.endsWith('.qptiff')) {
      return { format: 'vectra-qptiff', name: first.tiled ? 'Akoya/PerkinElmer Vectra QPTIFF' : 'Akoya/PerkinElmer Vectra QPTIFF (striped, not tiled)' };
    }
    if (/<scn[\s>]/.test(desc) || desc.includes('leica-microsystems.com/scn')) return { format: 'leica-scn', name: 'Leica SCN' };
    if (desc.includes('DPUfsImport')) return { format: 'philips-tiff', name: 'Philips TIFF' };
    if ((first.string(Tag.XMP) ?? '').includes('iScan')) return { format: 'ventana-bif', name: 'Ventana BIF' };
    if (first.has(Tag.NdpiFormatFlag)) return { format: 'hamamatsu-ndpi', name: 'Hamamatsu NDPI (this variant)' };
    if (!first.tiled) return { format: 'striped-tiff', name: 'A striped (not tiled) TIFF' };
    return { format: 'tiff', name: 'This kind of TIFF' };
  }
  if (ascii(head, 0, 10) === 'ZISRAWFILE') return { format: 'zeiss-czi', name: 'Zeiss CZI' };
  if (ascii(head, 0, 4) === 'SIS\0') return { format: 'olympus-ets', name: 'Olympus ETS (the pixel file of a VSI slide)' };
  if (startsWith(head, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return { format: 'ole2', name: 'Zeiss ZVI (or another OLE2 container)' };
  if (lowerUri.endsWith('.mrxs') || (ascii(head, 0, 64).includes('[GENERAL]') && ascii(head, 0, 4096).includes('SLIDE_ID'))) {
    return { format: '3dhistech-mrxs', name: '3DHISTECH MRXS' };
  }
  const text = ascii(head, 0, 512);
  if (text.includes('DPUfsImport') || lowerUri.endsWith('.isyntax')) return { format: 'philips-isyntax', name: 'Philips iSyntax' };
  if (ascii(head, 0, 15) === 'SQLite format 3') return { format: 'sqlite', name: 'An SQLite database (for example Sakura SVSLIDE)' };
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { format: 'jpeg', name: 'A plain JPEG image (not a whole-slide image)' };
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47])) return { format: 'png', name: 'A plain PNG image (not a whole-slide image)' };
  if (startsWith(head, [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20])) return { format: 'jpeg2000', name: 'A JPEG 2000 image' };
  if (ascii(head, 0, 4) === 'GIF8') return { format: 'gif', name: 'A GIF image (not a whole-slide image)' };
  if (ascii(head, 0, 2) === 'BM' && head.length > 26) return { format: 'bmp', name: 'A BMP image (not a whole-slide image)' };
  if (ascii(head, 0, 4) === 'PK\x03\x04') return { format: 'zip', name: 'A ZIP archive (unpack it first)' };
  if (ascii(head, 128, 4) === 'DICM') return { format: 'dicom', name: 'This DICOM object' };
  return undefined;
}
