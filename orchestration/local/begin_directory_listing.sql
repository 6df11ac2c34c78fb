-- Start a directory refresh with an empty listing.
truncate table raw.designs_directory_listing
