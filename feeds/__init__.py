"""feeds: the XML price list Kaspi polls: built from the catalog, validated against Kaspi's schema,
published as versions (with a shrink guard) and served at /feeds/<FEED_TOKEN>/kaspi.xml with a fetch log."""
