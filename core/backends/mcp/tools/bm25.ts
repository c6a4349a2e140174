/**
 * A small BM25F index over tools: the name, the description and the parameter names are fields with their own
 * weights, tokenized on camelCase, snake_case, kebab-case and punctuation, lower-cased, with a light plural folding
 * (`issues` → `issue`, `repositories` → `repository`). Lexical only: no models, nothing leaves the process.
 */

const K1 = 1.2;
const B = 0.75;
/** Field weights: a word in the name counts most, a parameter name more than a word of prose. */
const WEIGHTS = { name: 3, params: 1.5, description: 1 } as const;
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
    out.push(fold(raw));
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
  /** Weighted term frequency over the fields. */
  tf: number;
}

export class Bm25Index {
  readonly size: number;
  private readonly postings = new Map<string, Posting[]>();
  private readonly lengths: Float64Array;
  private readonly avgLength: number;
  private readonly names: Map<string, number>;

  constructor(tools: readonly IndexedTool[]) {
    this.size = tools.length;
    this.lengths = new Float64Array(tools.length);
    this.names = new Map(tools.map((t, i) => [compact(t.name), i]));
    let total = 0;
    tools.forEach((t, doc) => {
      const tf = new Map<string, number>();
      const add = (words: string[], weight: number) => {
        for (const w of words) tf.set(w, (tf.get(w) ?? 0) + weight);
        this.lengths[doc] += words.length * weight;
      };
      add(tokenize(t.name), WEIGHTS.name);
      add(tokenize(t.params.join(' ')), WEIGHTS.params);
      add(tokenize((t.description ?? '').slice(0, MAX_DESCRIPTION_CHARS)), WEIGHTS.description);
      total += this.lengths[doc];
      for (const [term, f] of tf) {
        let list = this.postings.get(term);
        if (!list) this.postings.set(term, (list = []));
        list.push({ doc, tf: f });
      }
    });
    this.avgLength = tools.length > 0 ? total / tools.length || 1 : 1;
  }

  /** Documents by descending score for a query; those sharing no word with it are left out. */
  rank(query: string): Array<{ doc: number; score: number }> {
    const scores = new Float64Array(this.size);
    const touched: number[] = [];
    const terms = [...new Set(tokenize(query))];
    for (const term of terms) {
      const list = this.postings.get(term);
      if (!list) continue;
      const idf = Math.log(1 + (this.size - list.length + 0.5) / (list.length + 0.5));
      for (const { doc, tf } of list) {
        if (scores[doc] === 0) touched.push(doc);
        const norm = tf + K1 * (1 - B + (B * this.lengths[doc]) / this.avgLength);
        scores[doc] += (idf * (tf * (K1 + 1))) / norm;
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
