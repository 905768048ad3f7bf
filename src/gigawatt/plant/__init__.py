"""Site, weather and plant (DESIGN §4.8): outdoor dry and wet bulb drive the heat-rejection plant, which
sets the facility water and supply air temperatures and the cooling power, hence PUE over a day."""
