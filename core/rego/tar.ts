import { gunzipSync } from 'node:zlib';

/** Reads one file out of a .tar.gz (the bundle `opa build` writes); enough of ustar for OPA's bundles. */
export function readFromTarGz(archive: Buffer, wanted: string): Buffer | undefined {
  const tar = gunzipSync(archive);
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return undefined;
    const field = (start: number, len: number) => {
      const raw = header.subarray(start, start + len);
      const end = raw.indexOf(0);
      return raw.subarray(0, end === -1 ? len : end).toString('utf8');
    };
    const prefix = field(345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const body = offset + 512;
    if (name.replace(/^\.?\//, '') === wanted) return Buffer.from(tar.subarray(body, body + size));
    offset = body + Math.ceil(size / 512) * 512;
  }
  return undefined;
}
