/**
 * Calendar periods (hour, day, month) in an IANA time zone: where the one holding an instant starts and ends, so
 * that a quota resets at local midnight or on the first of the month, daylight-saving changes included.
 */

export type CalendarPeriod = 'hour' | 'day' | 'month';

export interface PeriodWindow {
  /** Stable name of the period in its zone's calendar: `2026-03`, `2026-03-29`, `2026-03-29T02`. */
  id: string;
  /** First millisecond of the period. */
  start: number;
  /** First millisecond of the next period. */
  end: number;
}

export interface Calendar {
  periodAt(instant: number): PeriodWindow;
}

/** Whether `timeZone` names a zone this runtime knows (for config validation). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function createCalendar(period: CalendarPeriod, timeZone = 'UTC'): Calendar {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const wall = (t: number): Wall => {
    const out: Record<string, number> = {};
    for (const p of format.formatToParts(t)) if (p.type !== 'literal') out[p.type] = Number(p.value);
    return { y: out.year, mo: out.month, d: out.day, h: out.hour, mi: out.minute, s: out.second };
  };
  /** The zone's offset from UTC at an instant, in ms (wall clock minus UTC). */
  const offsetAt = (t: number): number => {
    const w = wall(t);
    return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(t / 1000) * 1000;
  };
  /** The instant the zone's wall clock shows y-mo-d h:00 (fields may overflow: month 13 is next January). */
  const instantOf = (y: number, mo: number, d: number, h: number): number => {
    const guess = Date.UTC(y, mo - 1, d, h);
    const first = guess - offsetAt(guess);
    return guess - offsetAt(first);
  };
  // The last period asked for: most decisions fall in it, and a lookup then costs two comparisons.
  let last: PeriodWindow | undefined;
  return {
    periodAt(instant) {
      if (last && instant >= last.start && instant < last.end) return last;
      const w = wall(instant);
      let start: number;
      let end: number;
      let id: string;
      if (period === 'month') {
        start = instantOf(w.y, w.mo, 1, 0);
        end = instantOf(w.y, w.mo + 1, 1, 0);
        id = `${w.y}-${pad(w.mo)}`;
      } else if (period === 'day') {
        start = instantOf(w.y, w.mo, w.d, 0);
        end = instantOf(w.y, w.mo, w.d + 1, 0);
        id = `${w.y}-${pad(w.mo)}-${pad(w.d)}`;
      } else {
        start = instantOf(w.y, w.mo, w.d, w.h);
        end = instantOf(w.y, w.mo, w.d, w.h + 1);
        id = `${w.y}-${pad(w.mo)}-${pad(w.d)}T${pad(w.h)}`;
      }
      // A wall-clock hour that a DST change skips or repeats can put the computed start after the instant.
      if (start > instant) start = instant;
      if (end <= instant) end = instant + 1;
      last = { id, start, end };
      return last;
    },
  };
}
