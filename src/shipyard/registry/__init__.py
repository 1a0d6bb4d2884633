"""The model registry over the stores: model URIs (``runs:/``, ``models:/NAME/VERSION``,
``models:/NAME@ALIAS``), registered models, versions, aliases. No SDK: the server uses it too."""
