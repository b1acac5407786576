/**
 * File helpers for modules that keep append-only files (usrloc's registrations, acc's CDRs):
 * the pieces of writing a file that survives a crash, shared so each store does them alike.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';

/** The file's size, or null when it does not exist (other errors are thrown). */
export async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return null;
    }
    throw err;
  }
}

/** Does the file's last byte end a line? False means a torn last line (a crash mid-write). */
export async function endsWithNewline(h: FileHandle, size: number): Promise<boolean> {
  const b = Buffer.alloc(1);
  await h.read(b, 0, 1, size - 1);
  return b[0] === 0x0a;
}

/** fsync a directory: a rename or a new file is durable only once its entry is on disk. */
export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
