import sys

from trainers.common.cli import main
from trainers.ppm import PPMConfig, train
from trainers.ppm.train import __doc__ as DOC

if __name__ == "__main__":
    main("python -m trainers.ppm", PPMConfig, train, DOC, sys.argv[1:])
