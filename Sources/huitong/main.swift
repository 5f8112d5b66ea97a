print("huitong")
