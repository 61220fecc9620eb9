import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slideName } from '../../../main/app/slide-name.js';

test('a slide is named by its address’s last segment, percent-decoded', () => {
  assert.equal(slideName('s3://slides/cases/2024/CMU-1%20small.svs'), 'CMU-1 small.svs');
  assert.equal(slideName('file:///data/slides/K%C3%B6ln.ndpi'), 'Köln.ndpi');
  assert.equal(slideName('s3://slides/folder/'), 'folder');
});

test('a stray % (a legal S3 key) names the slide as written instead of throwing URIError', () => {
  assert.doesNotThrow(() => slideName('s3://slides/100%.svs'));
  assert.equal(slideName('s3://slides/100%.svs'), '100%.svs');
  assert.equal(slideName('file:///data/50%25-%zz.tif'), '50%25-%zz.tif');
});
