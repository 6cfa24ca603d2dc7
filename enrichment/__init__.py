"""Enrichment: the 'what' (nlp) and the 'where' (geo) of a post in one pure call.

The stream worker, backfills and ``tsur enrich`` all call :class:`enrichment.enricher.Enricher`."""
