/**
 * A writer process for the kill -9 test: creates one annotation per edit, forever, and
 * prints each id after its transaction committed. The test kills it mid-burst.
 */
import { AnnotationService } from '../../../main/annotations/service.js';
import { openAnnotationStore } from '../../../main/annotations/store.js';

const [file, slide] = process.argv.slice(2) as [string, string];
const svc = new AnnotationService({ store: openAnnotationStore(file), author: () => ({ sub: 'writer', name: 'Writer' }) });
for (let i = 0; ; i++) {
  const x = i % 1000;
  const [o] = svc.create(slide, [{ geometry: { type: 'Polygon', coordinates: [[[x, 0], [x + 5, 0], [x + 5, 5], [x, 0]]] } }]);
  // Synchronous write: the line is out before the next edit starts.
  process.stdout.write(`${o!.id}\n`);
}
