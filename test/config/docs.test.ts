import { readFileSync } from 'node:fs';
import t from 'tap';
import { configSchema } from '../../src/config/index.js';
import { schemaKeysAt } from '../../src/config/issues.js';

const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
const shipped = readFileSync(new URL('../../cfg/tandem.yaml', import.meta.url), 'utf8');

t.test('docs/configuration.md documents every key the schema accepts', async (t) => {
  const top = schemaKeysAt(configSchema, []);
  t.ok(top.length >= 11);
  for (const key of top) {
    t.ok(doc.includes(`### ${key}\n`), `a section for ${key}`);
    for (const sub of schemaKeysAt(configSchema, [key])) {
      t.ok(doc.includes(`\`${sub}\``), `${key}.${sub} is documented`);
    }
  }
  for (const field of schemaKeysAt(configSchema, ['listen', 0])) {
    t.ok(doc.includes(`\`${field}\``), `listen entry field ${field} is documented`);
  }
  t.end();
});

t.test('the shipped cfg/tandem.yaml names every key, so operators see them all', async (t) => {
  for (const key of schemaKeysAt(configSchema, [])) {
    t.match(shipped, new RegExp(`^#? ?${key}:`, 'm'), `${key} appears`);
    for (const sub of schemaKeysAt(configSchema, [key])) {
      t.match(shipped, new RegExp(`^#? +${sub}:`, 'm'), `${key}.${sub} appears`);
    }
  }
  t.end();
});
