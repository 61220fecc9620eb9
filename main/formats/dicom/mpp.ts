/**
 * Microns per pixel of a DICOM WSI pyramid's top level, shared by the Part 10 reader and
 * the DICOMweb reader so both answer the same for the same series.
 *
 * PixelSpacing (shared functional groups, else top level) is row spacing \ column
 * spacing in mm. OrthancWSIDicomizer 1.x writes it swapped and anisotropic for a
 * non-square slide while its ImagedVolumeWidth/Height are right, so when the two
 * disagree by more than 1 % the imaged size wins (decision 0702).
 */
import { T } from './image.js';
import { num, nums, seq, tag, type DicomDataset } from './parser.js';

const ImagedVolumeWidth = tag(0x0048, 0x0001);
const ImagedVolumeHeight = tag(0x0048, 0x0002);

export type MppSource = 'PixelSpacing' | 'ImagedVolume' | 'ImagedVolume (PixelSpacing disagrees)';

export function pyramidMpp(ds: DicomDataset, width: number, height: number): { mpp: { x: number; y: number } | undefined; source: MppSource | undefined } {
  const spacing = nums(seq(seq(ds, T.SharedGroups)[0], T.PixelMeasures)[0], T.PixelSpacing) ?? nums(ds, T.PixelSpacing);
  let mpp: { x: number; y: number } | undefined;
  let source: MppSource | undefined;
  if (spacing && spacing.length >= 2 && spacing[0]! > 0 && spacing[1]! > 0) {
    mpp = { x: spacing[1]! * 1000, y: spacing[0]! * 1000 };
    source = 'PixelSpacing';
  }
  const vw = num(ds, ImagedVolumeWidth);
  const vh = num(ds, ImagedVolumeHeight);
  const fromVolume = vw && vw > 0 ? { x: (vw * 1000) / width, y: ((vh && vh > 0 ? vh : vw) * 1000) / height } : undefined;
  if (fromVolume && (!mpp || Math.abs(mpp.x / fromVolume.x - 1) > 0.01 || Math.abs(mpp.y / fromVolume.y - 1) > 0.01)) {
    mpp = fromVolume;
    source = spacing ? 'ImagedVolume (PixelSpacing disagrees)' : 'ImagedVolume';
  }
  return { mpp, source };
}
