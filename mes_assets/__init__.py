"""mes-assets: quantitative overlays for the MES cockpit and the ZL procurement dashboard."""
