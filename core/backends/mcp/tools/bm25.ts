/**
 * A small BM25F index over tools: the name, the description's first line (its summary), the rest of the description
 * and the parameter names are fields with their own weights and length normalization, tokenized on camelCase,
 * snake_case, kebab-case and punctuation, lower-cased, with a light plural folding (`issues` → `issue`,
 * `repositories` → `repository`) and a few common synonyms (`repo` → `repository`, `new` → `create`). Lexical
 * only: no models, nothing leaves the process.
 */

const K1 = 1.2;
/** Fields: weight (a word in the name counts most) and length normalization `b` (a long text says less per word). */
const FIELDS = {
  name: { weight: 3, b: 0.5 },
  summary: { weight: 2, b: 0.75 },
  params: { weight: 1, b: 0.75 },
  description: { weight: 1, b: 0.75 },
} as const;
type Field = keyof typeof FIELDS;
const FIELD_NAMES = Object.keys(FIELDS) as Field[];

/** Words that name the same thing in tool names and in requests. */
const SYNONYMS: Readonly<Record<string, string>> = {
  repo: 'repository',
  org: 'organization',
  pr: 'pull',
  new: 'create',
  make: 'create',
  remove: 'delete',
  fetch: 'get',
  retrieve: 'get',
  read: 'get',
  show: 'get',
};
/** Bonus for a query naming the tool outright (its whole name, any case or separators). */
const EXACT_NAME_BONUS = 100;
/** The description is indexed up to this many characters: the first paragraph says what a tool does. */
const MAX_DESCRIPTION_CHARS = 2000;

const STOPWORDS = new Set(
  'a an and are as at be by can do does for from how i in is it its me my of on or that the their this to use using want what when which with you your'.split(' '),
);

/** Folds simple English plurals so that a query's `issues` meets a tool's `issue`. */
function fold(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && /(?:ches|shes|sses|xes)$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us')) return word.slice(0, -1);
  return word;
}

/** Words of a text: split at case changes, digits runs and anything not a letter or digit. */
export function tokenize(text: string): string[] {
  const spaced = text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase();
  const out: string[] = [];
  for (const raw of spaced.split(/[^a-z0-9]+/)) {
    if (raw.length < 2 || STOPWORDS.has(raw)) continue;
    const word = fold(raw);
    out.push(SYNONYMS[word] ?? word);
  }
  return out;
}

/** The name with separators and case folded away, to recognize a query that names a tool. */
function compact(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export interface IndexedTool {
  name: string;
  description?: string;
  params: readonly string[];
}

interface Posting {
  doc: number;
  /** Term frequency per field, in FIELD_NAMES order. */
  tf: number[];
}

export class Bm25Index {
  readonly size: number;
  private readonly postings = new Map<string, Posting[]>();
  /** Length of each field of each document: lengths[field][doc]. */
  private readonly lengths: Float64Array[];
  private readonly avg: number[];
  private readonly names: Map<string, number>;

  constructor(tools: readonly IndexedTool[]) {
    this.size = tools.length;
    this.lengths = FIELD_NAMES.map(() => new Float64Array(tools.length));
    this.names = new Map(tools.map((t, i) => [compact(t.name), i]));
    tools.forEach((t, doc) => {
      const text = (t.description ?? '').slice(0, MAX_DESCRIPTION_CHARS).trim();
      const cut = text.indexOf('\n');
      const fields: Record<Field, string[]> = {
        name: tokenize(t.name),
        summary: tokenize(cut === -1 ? text : text.slice(0, cut)),
        params: tokenize(t.params.join(' ')),
        description: cut === -1 ? [] : tokenize(text.slice(cut + 1)),
      };
      const tf = new Map<string, number[]>();
      FIELD_NAMES.forEach((f, fi) => {
        this.lengths[fi][doc] = fields[f].length;
        for (const w of fields[f]) {
          let v = tf.get(w);
          if (!v) tf.set(w, (v = [0, 0, 0, 0]));
          v[fi]++;
        }
      });
      for (const [term, v] of tf) {
        let list = this.postings.get(term);
        if (!list) this.postings.set(term, (list = []));
        list.push({ doc, tf: v });
      }
    });
    this.avg = this.lengths.map((l) => (l.length === 0 ? 1 : l.reduce((a, b) => a + b, 0) / l.length || 1));
  }

  /** Documents by descending score for a query; those sharing no word with it are left out. */
  rank(query: string): Array<{ doc: number; score: number }> {
    const scores = new Float64Array(this.size);
    const touched: number[] = [];
    for (const term of new Set(tokenize(query))) {
      const list = this.postings.get(term);
      if (!list) continue;
      const idf = Math.log(1 + (this.size - list.length + 0.5) / (list.length + 0.5));
      for (const { doc, tf } of list) {
        // BM25F: each field's frequency normalized by that field's length, weighted, then saturated once.
        let weighted = 0;
        for (let f = 0; f < FIELD_NAMES.length; f++) {
          if (tf[f] === 0) continue;
          const { weight, b } = FIELDS[FIELD_NAMES[f]];
          weighted += (weight * tf[f]) / (1 - b + (b * this.lengths[f][doc]) / this.avg[f]);
        }
        if (scores[doc] === 0) touched.push(doc);
        scores[doc] += (idf * weighted) / (K1 + weighted);
      }
    }
    const exact = this.names.get(compact(query));
    if (exact !== undefined) {
      if (scores[exact] === 0) touched.push(exact);
      scores[exact] += EXACT_NAME_BONUS;
    }
    return touched.map((doc) => ({ doc, score: scores[doc] })).sort((a, b) => b.score - a.score || a.doc - b.doc);
  }
}
