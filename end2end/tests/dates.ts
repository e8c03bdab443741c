/** Dates as the demo user Anna (Europe/Copenhagen, weeks from Monday) sees them. */
export function todayIn(timeZone = 'Europe/Copenhagen'): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

export function addDays(iso: string, days: number): string {
  const d = new Date(`${iso}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** A weekday four or more weeks ahead: past every meeting the demo seeds (its weeks run from
 *  last week to two weeks ahead), so the tests that point at times find an empty day on any
 *  day of the week they run. */
export function quietWeekday(): string {
  let day = addDays(todayIn(), 28);
  while ([0, 6].includes(new Date(`${day}T12:00:00Z`).getUTCDay())) day = addDays(day, 1);
  return day;
}

/** The instant a wall-clock time on `day` is in `timeZone` (summer or winter time alike). */
export function zonedTime(day: string, hour: number, minute = 0, timeZone = 'Europe/Copenhagen'): Date {
  const [y, m, d] = day.split('-').map(Number);
  const asUtc = Date.UTC(y, m - 1, d, hour, minute);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' })
      .formatToParts(new Date(asUtc))
      .map((p) => [p.type, Number(p.value)]),
  );
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute);
  return new Date(asUtc - (wall - asUtc));
}
