"""Run by Debian's /usr/bin/python3 with python3-qgis (not the venv): open a generated QGIS
project as a user, count each layer's features and render the map to a PNG.

Arguments: project.qgz username api-token authcfg-id out.png [xmin,ymin,xmax,ymax: a view in
BNG metres]. The token goes into a fresh QGIS authentication database (Basic: the username and
the token as the password) under the id the project names, as a user would store it; prints
one JSON document."""

from __future__ import annotations

import json
import os
import sys
import tempfile

from qgis.core import (
    QgsApplication,
    QgsAuthMethodConfig,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def main(
    project_path: str, username: str, token: str, authcfg: str, png: str, view: str = ""
) -> None:
    os.environ["QGIS_AUTH_DB_DIR_PATH"] = tempfile.mkdtemp(prefix="qgis-auth-")
    app = QgsApplication([], False)
    app.initQgis()
    auth = QgsApplication.authManager()
    auth.setMasterPassword("test master password", True)
    config = QgsAuthMethodConfig("Basic")
    config.setId(authcfg)
    config.setName("hardening")
    config.setConfig("username", username)
    config.setConfig("password", token)
    assert auth.storeAuthenticationConfig(config), "could not store the auth configuration"
    project = QgsProject.instance()
    assert project.read(project_path), f"QGIS could not read {project_path}"
    bng = QgsCoordinateReferenceSystem("EPSG:27700")
    found: dict[str, dict[str, object]] = {}
    extent = QgsRectangle()
    extent.setMinimal()
    for layer in project.mapLayers().values():
        entry: dict[str, object] = {"valid": layer.isValid(), "provider": layer.providerType()}
        if isinstance(layer, QgsVectorLayer) and layer.isValid():
            features = list(layer.getFeatures())
            entry["count"] = len(features)
            entry["fields"] = [f.name() for f in layer.fields()]
            entry["renderer"] = layer.renderer().type()
            move = QgsCoordinateTransform(layer.crs(), bng, project)
            box = QgsRectangle()
            box.setMinimal()
            for feature in features:
                box.combineExtentWith(move.transformBoundingBox(feature.geometry().boundingBox()))
            entry["bbox"] = [round(v) for v in box.toRectF().getCoords()] if features else None
            extent.combineExtentWith(box)
        found[layer.name()] = entry
    root = project.layerTreeRoot()
    shown = [layer.layer() for layer in root.findLayers() if layer.isVisible()]
    settings = QgsMapSettings()
    settings.setLayers([layer for layer in shown if layer is not None])
    settings.setDestinationCrs(bng)
    settings.setBackgroundColor(QColor(223, 230, 236))
    settings.setOutputSize(QSize(900, 640))
    extent.grow(max(extent.width(), extent.height(), 200) * 0.08)
    if view:  # a view of its own (BNG metres), for the documentation's pictures
        extent = QgsRectangle(*map(float, view.split(",")))
    settings.setExtent(extent)
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    assert job.renderedImage().save(png, "PNG"), f"could not write {png}"
    errors = [f"{e.layerID}: {e.message}" for e in job.errors()]
    drawn = [layer.id() for layer in shown if layer is not None]
    print(json.dumps({"layers": found, "drawn": drawn, "errors": errors}))
    app.exitQgis()


if __name__ == "__main__":
    main(*sys.argv[1:7])
