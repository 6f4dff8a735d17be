-- Contact data set by UpdateContact or a flow's UpdateContactData (name, description, language,
-- references), as one JSON object.
ALTER TABLE contacts ADD COLUMN contact_data TEXT NOT NULL DEFAULT '{}';
