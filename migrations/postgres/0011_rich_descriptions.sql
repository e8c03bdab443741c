-- Issue 11: descriptions kept as their provider has them (F-EDIT-6). Outlook bodies are HTML,
-- Google's web calendar writes HTML too; reading them as text lost their links and the
-- Teams/Meet join link on the next write. Keep in step with the other backend's 0011.
ALTER TABLE meetings ADD COLUMN description_html BOOLEAN NOT NULL DEFAULT FALSE;
