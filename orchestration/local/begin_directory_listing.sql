-- Start a refresh of one directory with an empty listing. Binds: directory.
delete from raw.directory_listing
where directory = ?
