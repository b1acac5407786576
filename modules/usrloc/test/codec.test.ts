/** The binary contact record of the cluster wire: round trips and refusals. */
import t from 'tap';
import { CONTACT_RECORD_VERSION, type ContactRecord } from '../api.js';
import { decodeContact, encodeContact } from '../codec.js';
import { EPOCH, input } from './helpers.js';

const full: ContactRecord = {
  ...input({
    received: 'sip:203.0.113.5:4000;transport=tcp',
    path: ['<sip:edge1;lr>', '<sip:édge2;lr>'],
    instance: 'urn:uuid:00000000-0000-1000-8000-000A95A0E128',
    regId: 2,
    flags: 0xffff_ffff,
    methods: ['INVITE', 'MESSAGE'],
    owner: 'vip/1',
    userAgent: 'Téléphone ☎/1.0',
  }),
  v: CONTACT_RECORD_VERSION,
  lastModified: EPOCH + 17,
  rev: (EPOCH + 17) * 1024 + 3,
};

t.test('every field round-trips, nulls and non-ASCII included', async (t) => {
  t.same(decodeContact(encodeContact(full)), full);
  const bare: ContactRecord = {
    ...full,
    received: null,
    socket: null,
    path: [],
    userAgent: null,
    instance: null,
    regId: null,
    methods: null,
    owner: null,
    flags: 0,
  };
  t.same(decodeContact(encodeContact(bare)), bare);
  const big = { ...full, path: Array.from({ length: 200 }, (_, i) => `<sip:hop${String(i)};lr>`) };
  t.same(decodeContact(encodeContact(big)), big, 'grows its scratch buffer past 4 KiB');
  t.same(decodeContact(encodeContact(bare)), bare, 'and still encodes small ones after');
});

t.test(
  'a lead byte (a sync record kind) goes before the record and is skipped on read',
  async (t) => {
    const b = encodeContact(full, 1);
    t.equal(b.readUInt8(0), 1);
    t.same(b.subarray(1), encodeContact(full), 'the same bytes after it');
    t.same(decodeContact(b, 1), full);
  },
);

t.test('malformed or foreign bytes are refused with a reason', async (t) => {
  const b = encodeContact(full);
  t.match(decodeContact(b.subarray(0, b.length - 3)), /out of range|past the end/);
  t.equal(decodeContact(Buffer.concat([b, Buffer.alloc(1)])), 'bad record length or path');
  const v = Buffer.from(b);
  v.writeUInt8(9, 0);
  t.match(decodeContact(v), /record version 9/);
  t.equal(decodeContact(encodeContact({ ...full, expires: Number.NaN })), 'bad number');
  const noAor = Buffer.from(b);
  noAor.writeUInt16BE(0xffff, 1);
  t.equal(decodeContact(noAor), 'null where a string is required');
  t.type(decodeContact(Buffer.alloc(0)), 'string', 'empty');
  const nullPath = encodeContact({ ...full, path: null as unknown as string[] });
  t.equal(decodeContact(nullPath), 'bad record length or path', 'a path is never null');
  t.throws(() => encodeContact({ ...full, callId: 'x'.repeat(70_000) }), RangeError);
});
