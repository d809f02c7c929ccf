"""Coverage and siting: CCTV visibility, maximal covering (MCLP) and ANPR flow capture."""
