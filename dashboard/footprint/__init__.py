"""What the fleet's hours cost in energy, carbon and money: the estimates of every collected variant-hour, the
daily rollups, and the query layer every surface asks (``queries``)."""
