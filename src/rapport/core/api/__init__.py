"""DRF building blocks every app's API uses. Import from the submodules:
``errors`` (exception handler), ``permissions`` (RolePermission),
``pagination`` (KeysetPagination), ``versioning`` (ETag / If-Match)."""
