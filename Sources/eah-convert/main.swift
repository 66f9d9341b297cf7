print("eah-convert")
