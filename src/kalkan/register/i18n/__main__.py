"""``python -m kalkan.register.i18n``: rewrite messages.pot and update every <lang>.po with it."""

from kalkan.register.i18n import write_catalogue

if __name__ == "__main__":
    for path in write_catalogue():
        print(path)
