"""The pages: views, charts, tables, filters and template tags. Asks the footprint query layer, never sums."""
