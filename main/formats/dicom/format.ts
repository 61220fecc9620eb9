import { no } from '../probe.js';
import type { SlideFormat } from '../types.js';
export const dicomFormat: SlideFormat = { name: 'dicom', detect: () => no('todo'), open: () => Promise.reject(new Error('todo')) };
