-- Issue 9: personal settings (F-X-5, F-X-6, F-CAL-6) beside the calendar choices of F-CAL-7
-- (users.calendar_prefs, JSON: shown colleagues and colours). Keep in step with the other
-- backend's 0005.

-- The view the calendar opens in ('' = week).
ALTER TABLE users ADD COLUMN default_view TEXT NOT NULL DEFAULT '';
-- Working hours in the user's own zone: minutes from midnight, and the days (bit 0 = Monday).
ALTER TABLE users ADD COLUMN work_start BIGINT NOT NULL DEFAULT 480;
ALTER TABLE users ADD COLUMN work_end BIGINT NOT NULL DEFAULT 1020;
ALTER TABLE users ADD COLUMN work_days BIGINT NOT NULL DEFAULT 31;

-- The language: '' follows the browser's Accept-Language. Nobody could choose one before this
-- migration, so the old default 'en' was never a choice (new users are stored with '').
UPDATE users SET locale = '' WHERE locale = 'en';
